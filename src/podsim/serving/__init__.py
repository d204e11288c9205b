"""LLM serving performance model: KV cache, capacity, prefill/decode steps, SLOs, disaggregation."""
