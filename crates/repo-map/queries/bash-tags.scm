; aidx repo-map tags for shell scripts (bash/sh; see rust-tags.scm for the capture convention).
; Functions are definitions; top-level assignments are constants; every command name is a
; reference (so a script calling a function another script defines links the two).

(function_definition name: (word) @name) @def.function
(program (variable_assignment name: (variable_name) @name) @def.constant)

(command name: (command_name (word) @ref.call))
