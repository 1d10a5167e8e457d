"""CRM: customers, screen pop, the interaction timeline, segments and the knowledge base."""
