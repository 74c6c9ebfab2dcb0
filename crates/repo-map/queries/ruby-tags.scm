; aidx repo-map tags for Ruby (see rust-tags.scm for the capture convention).

(method name: (_) @name) @def.method
(singleton_method name: (_) @name) @def.method
(class name: (constant) @name) @def.type
(class name: (scope_resolution name: (constant) @name)) @def.type
(module name: (constant) @name) @def.module
(module name: (scope_resolution name: (constant) @name)) @def.module
(program (assignment left: (constant) @name) @def.constant)

(call method: (identifier) @ref.call)
(superclass (constant) @ref.type)
(scope_resolution name: (constant) @ref.type)
(call receiver: (constant) @ref.type)
