"""The SLM (sustainable land management) knowledge base: practice records, their
vocabulary, moderation, versions, search, import and export.

Modules: :mod:`~landwatch.knowledge.vocabulary` (the closed code lists),
:mod:`~landwatch.knowledge.records` (the rules a record must satisfy),
:mod:`~landwatch.knowledge.search` (ranking and facets) and
:mod:`~landwatch.knowledge.practices` (the service functions over a database session).
"""
