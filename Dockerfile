# chatd: multi-stage build. The builder compiles the release binary; the runtime image holds it,
# ffmpeg (video screenshots) and curl (the health check), and runs it as an unprivileged user.
#   docker build -t chatd .
#   docker run -p 7001:7001 -v chatd-data:/data chatd        # embedded SQLite in /data
# compose.yaml runs it with PostgreSQL and Redis.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p chatd --bin chatd \
 && cp target/release/chatd /usr/local/bin/chatd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin chatd \
 && mkdir -p /data && chown chatd:chatd /data
COPY --from=build /usr/local/bin/chatd /usr/local/bin/chatd
USER chatd
WORKDIR /data
ENV CHAT_LISTEN=0.0.0.0:7001 \
    CHAT_DATA_DIR=/data \
    CHAT_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 7001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:7001/healthz || exit 1
ENTRYPOINT ["chatd"]
CMD ["serve"]
