FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir .
ENV RENSEI_API_HOST=0.0.0.0
EXPOSE 8000
CMD ["rensei", "api"]
