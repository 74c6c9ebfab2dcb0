; aidx repo-map tags for Rust.
; Convention: @def.<kind> marks the whole definition (its first line becomes the signature),
; @name its identifier, @ref.<kind> a use of a name defined elsewhere.
; Later patterns win over earlier ones when both tag the same name on the same line.

(function_item name: (identifier) @name) @def.function
(function_signature_item name: (identifier) @name) @def.function
(struct_item name: (type_identifier) @name) @def.type
(enum_item name: (type_identifier) @name) @def.type
(union_item name: (type_identifier) @name) @def.type
(type_item name: (type_identifier) @name) @def.type
(trait_item name: (type_identifier) @name) @def.trait
(const_item name: (identifier) @name) @def.constant
(static_item name: (identifier) @name) @def.constant
(mod_item name: (identifier) @name) @def.module
(macro_definition name: (identifier) @name) @def.macro

(declaration_list (function_item name: (identifier) @name) @def.method)
(declaration_list (function_signature_item name: (identifier) @name) @def.method)

(call_expression function: (identifier) @ref.call)
(call_expression function: (scoped_identifier name: (identifier) @ref.call))
(call_expression function: (field_expression field: (field_identifier) @ref.call))
(generic_function function: (identifier) @ref.call)
(generic_function function: (scoped_identifier name: (identifier) @ref.call))
(generic_function function: (field_expression field: (field_identifier) @ref.call))
(macro_invocation macro: (identifier) @ref.macro)
(type_identifier) @ref.type
(scoped_identifier path: (identifier) @ref.path)
(scoped_type_identifier path: (identifier) @ref.path)
(struct_expression name: (type_identifier) @ref.type)
