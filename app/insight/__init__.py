"""Process insight pages: dashboards, bottlenecks, the process map, variants, before/after, exports."""
