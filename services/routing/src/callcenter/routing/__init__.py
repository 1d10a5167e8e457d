"""Routing (ACD): queues, agents, skills, strategies, overflow and timers: the automatic call distributor."""
