# syntax=docker/dockerfile:1
# One image for all of aTES: the six services and the operator tools, in /usr/local/bin. Each
# Kubernetes Deployment runs one of them (k8s/ates sets the command), so one build and one tag
# serve a whole release:
#   docker build -t registry.example.com/ates/ates:0.1.0 .
#   docker push registry.example.com/ates/ates:0.1.0
# and install the chart with image.repository=registry.example.com/ates/ates (the tag defaults
# to the chart's appVersion).
# The web app the BFF serves: clients generated from proto/, bundled.
FROM node:20-bookworm AS web
WORKDIR /src
COPY proto proto
COPY web web
RUN cd web && npm ci --no-audit --no-fund && npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
    && mkdir /out \
    && for binary in auth-svc tracker-svc accounting-svc payouts-svc bff-svc analytics-svc \
        ates-dead-letters ates-healthcheck; do cp "target/release/$binary" /out/; done

# glibc and CA certificates, no shell, user 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
COPY --from=web /src/web/dist/ /usr/share/ates/web/
# The BFF serves the web app from here.
ENV BFF_WEB_ROOT=/usr/share/ates/web
USER 65532:65532
# No default service: the Deployment names the binary (e.g. /usr/local/bin/tracker-svc).
ENTRYPOINT []
