import warnings

# fastapi.testclient warns on import that starlette would rather have httpx2; the benchmark
# uses TestClient as the tests do, and the warning says nothing about what it measures.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
