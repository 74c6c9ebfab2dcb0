; aidx repo-map tags for Scala 2 and 3 (see rust-tags.scm for the capture convention).

(package_clause name: (package_identifier) @name) @def.module
(class_definition name: (identifier) @name) @def.type
(object_definition name: (identifier) @name) @def.type
(enum_definition name: (identifier) @name) @def.type
(trait_definition name: (identifier) @name) @def.trait
(type_definition name: (type_identifier) @name) @def.type
(function_definition name: (identifier) @name) @def.function
(function_declaration name: (identifier) @name) @def.function
(template_body (function_definition name: (identifier) @name) @def.method)
(template_body (function_declaration name: (identifier) @name) @def.method)
(compilation_unit (val_definition pattern: (identifier) @name) @def.constant)
(object_definition body: (template_body (val_definition pattern: (identifier) @name) @def.constant))

(call_expression function: (identifier) @ref.call)
(call_expression function: (field_expression field: (identifier) @ref.call))
(field_expression value: (identifier) @ref.path)
(instance_expression (type_identifier) @ref.type)
(type_identifier) @ref.type
