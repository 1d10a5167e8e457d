"""The knowledge base: categories, articles (drafts, published, archived), their versions,
links between them, agents' favorites and full-text search."""
