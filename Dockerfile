# The Club Pengu app node. Built by compose.yaml; runs against the replica set there.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY clubpengu ./clubpengu
# GET /docs/protocol.md serves the protocol document from the package.
COPY docs/protocol.md ./clubpengu/static/docs/protocol.md
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 pengu
USER pengu
EXPOSE 8000
# Healthy while the database answers (a node whose Redis is down still serves its players).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-m", "clubpengu.healthcheck"]
CMD ["clubpengu", "serve", "--host", "0.0.0.0", "--port", "8000"]
