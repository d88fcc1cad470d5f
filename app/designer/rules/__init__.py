"""The rule designer: its routes, the view models of its workspace, and the reading of its posted inputs."""
