"""Workload layer: a transformer's parameters (``params``), its Hugging Face config
(``hf_config``) and, later, its per-layer operators with exact FLOPs and bytes."""
