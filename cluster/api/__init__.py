"""The operator service: API keys and roles, the REST API (FastAPI) and its Ray Serve wrapper.

It lives in ``cluster`` because it uses the stores and actors below it; nothing below imports it.
"""
