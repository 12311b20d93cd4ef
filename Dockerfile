# syntax=docker/dockerfile:1
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The [[bench]] targets in Cargo.toml must exist for cargo to load the manifest.
COPY benches ./benches
RUN cargo build --release --locked --bin mcp-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/mcp-operator /usr/local/bin/mcp-operator
USER 65532:65532
EXPOSE 9443 8080
ENTRYPOINT ["mcp-operator"]
CMD ["serve"]
