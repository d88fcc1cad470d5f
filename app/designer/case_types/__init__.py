"""The case-type designer: routes, the forms and view model of its editor, the state diagram."""
