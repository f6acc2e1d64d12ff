# One image per service: docker build --build-arg SERVICE=tracker-svc -t ates/tracker-svc .
FROM rust:1.95-bookworm AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin "${SERVICE}" && cp "target/release/${SERVICE}" /service

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /service /service
USER 65532:65532
ENTRYPOINT ["/service"]
