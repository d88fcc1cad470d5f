"""Process insight: the analytics read model (derive, live, rebuild, store), KPIs (kpis), process mining
(mining) and the event-log exports (eventlog). Nothing here imports the web layer."""
