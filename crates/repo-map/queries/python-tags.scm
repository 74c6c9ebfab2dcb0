; aidx repo-map tags for Python (see rust-tags.scm for the capture convention).

(function_definition name: (identifier) @name) @def.function
(class_definition name: (identifier) @name) @def.type
(class_definition body: (block (function_definition name: (identifier) @name) @def.method))
(class_definition body: (block (decorated_definition definition: (function_definition name: (identifier) @name) @def.method)))
(module (expression_statement (assignment left: (identifier) @name) @def.constant))

(call function: (identifier) @ref.call)
(call function: (attribute attribute: (identifier) @ref.call))
(class_definition superclasses: (argument_list (identifier) @ref.type))
(type (identifier) @ref.type)
