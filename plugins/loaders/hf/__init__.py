"""Hugging Face transformers model dirs: safety checks, loading and batched prediction."""
