# The local-mode server `nolose` (no AWS SDK inside). Multi-stage: build with
# the Rust toolchain, run on a slim Debian with only CA certificates.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked -p nolose-local --bin nolose && cp target/release/nolose /nolose

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /nolose /usr/local/bin/nolose
ENV PORT=8000
# glibc: buffers over 128 KiB (webhook bodies, argon2's 19 MiB) are mapped
# and unmapped on free, instead of raising the threshold and keeping freed
# 4 MiB bodies in per-thread arenas (bench/README.md "hostile").
ENV MALLOC_MMAP_THRESHOLD_=131072
EXPOSE 8000
USER nobody
ENTRYPOINT ["/usr/local/bin/nolose"]
