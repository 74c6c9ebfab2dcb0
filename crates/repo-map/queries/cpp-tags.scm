; aidx repo-map tags for C++ (see rust-tags.scm for the capture convention).

(function_definition declarator: (function_declarator declarator: (identifier) @name)) @def.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @def.function
(function_definition declarator: (reference_declarator (function_declarator declarator: (identifier) @name))) @def.function
(function_definition declarator: (function_declarator declarator: (qualified_identifier name: (identifier) @name))) @def.method
(function_definition declarator: (function_declarator declarator: (field_identifier) @name)) @def.method
(field_declaration_list (declaration declarator: (function_declarator declarator: (field_identifier) @name)) @def.method)
(field_declaration_list (field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @def.method)
(class_specifier name: (type_identifier) @name body: (field_declaration_list)) @def.type
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @def.type
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @def.type
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @def.type
(type_definition declarator: (type_identifier) @name) @def.type
(alias_declaration name: (type_identifier) @name) @def.type
(namespace_definition name: (namespace_identifier) @name) @def.module
(preproc_def name: (identifier) @name) @def.constant
(preproc_function_def name: (identifier) @name) @def.macro

(call_expression function: (identifier) @ref.call)
(call_expression function: (qualified_identifier name: (identifier) @ref.call))
(call_expression function: (field_expression field: (field_identifier) @ref.call))
(type_identifier) @ref.type
