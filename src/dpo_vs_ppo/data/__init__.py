"""Data: hub loaders for the paper's five datasets, the synthetic tiny-scale tasks, and record types.

Every source, real or synthetic, is read by the same call (``hub.load_split``) and converted by the
same functions (``dialogue_sources``, ``code_sources``) into the project's three record types
(``records``). The synthetic tasks (``safe_dialogue``, ``code_task``) write their data *in the real
datasets' schemas and file layouts*, so the tiny profile exercises the paper profile's loaders.
"""
