"""Test helpers shared by several test modules: a scripted planner and demo plans."""
