; aidx repo-map tags for PHP (see rust-tags.scm for the capture convention).

(namespace_definition name: (namespace_name) @name) @def.module
(class_declaration name: (name) @name) @def.type
(enum_declaration name: (name) @name) @def.type
(interface_declaration name: (name) @name) @def.trait
(trait_declaration name: (name) @name) @def.trait
(function_definition name: (name) @name) @def.function
(method_declaration name: (name) @name) @def.method
(const_declaration (const_element (name) @name)) @def.constant

(function_call_expression function: (name) @ref.call)
(function_call_expression function: (qualified_name (name) @ref.call))
(member_call_expression name: (name) @ref.call)
(nullsafe_member_call_expression name: (name) @ref.call)
(scoped_call_expression name: (name) @ref.call)
(scoped_call_expression scope: (name) @ref.type)
(scoped_call_expression scope: (qualified_name (name) @ref.type))
(object_creation_expression (name) @ref.type)
(object_creation_expression (qualified_name (name) @ref.type))
(named_type (name) @ref.type)
(named_type (qualified_name (name) @ref.type))
(base_clause (name) @ref.type)
(base_clause (qualified_name (name) @ref.type))
(class_interface_clause (name) @ref.type)
(class_interface_clause (qualified_name (name) @ref.type))
(use_declaration (name) @ref.type)
