# The Club Pengu app node. Built by compose.yaml; runs against the replica set there.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY clubpengu ./clubpengu
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 pengu
USER pengu
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health',timeout=2).status!=200)"
CMD ["clubpengu", "serve", "--host", "0.0.0.0", "--port", "8000"]
