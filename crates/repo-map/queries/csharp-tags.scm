; aidx repo-map tags for C# (see rust-tags.scm for the capture convention).

(class_declaration name: (identifier) @name) @def.type
(struct_declaration name: (identifier) @name) @def.type
(record_declaration name: (identifier) @name) @def.type
(enum_declaration name: (identifier) @name) @def.type
(interface_declaration name: (identifier) @name) @def.trait
(method_declaration name: (identifier) @name) @def.method
(constructor_declaration name: (identifier) @name) @def.method
(property_declaration name: (identifier) @name) @def.method
(namespace_declaration name: (identifier) @name) @def.module
(delegate_declaration name: (identifier) @name) @def.type

(invocation_expression function: (identifier) @ref.call)
(invocation_expression function: (member_access_expression name: (identifier) @ref.call))
(object_creation_expression type: (identifier) @ref.type)
(base_list (identifier) @ref.type)
(variable_declaration type: (identifier) @ref.type)
(parameter type: (identifier) @ref.type)
