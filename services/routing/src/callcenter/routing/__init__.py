"""Routing (ACD): queues, agents, skills, strategies, overflow and timers."""
