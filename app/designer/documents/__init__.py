"""The document template designer: routes and the view model of its editor and preview."""
