"""The designers admins build definitions with: one sub-package per designer, each with its routes and its
view models (forms, case types, rules, documents)."""
