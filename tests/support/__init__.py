"""Test helpers shared by several test modules: demo data builders and a stubbed OpenAI-compatible API."""
