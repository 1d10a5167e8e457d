"""The ticket aggregate as a pure decider: ``decide(command, ticket, now)`` and ``evolve``."""
