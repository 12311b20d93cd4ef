# syntax=docker/dockerfile:1
FROM rust:1-bookworm AS build
# The release binary is built with a profile of its own webhook traffic (scripts/pgo-build.sh):
# wrk drives the instrumented server, llvm-profdata merges the profile.
RUN apt-get update \
    && apt-get install -y --no-install-recommends wrk llvm-19 curl python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The [[bench]] targets in Cargo.toml must exist for cargo to load the manifest.
COPY benches ./benches
# The training run: the review fixtures and the helpers the load-test scripts share.
COPY webhooks ./webhooks
COPY bench/common.sh bench/post.lua ./bench/
COPY scripts/pgo-build.sh ./scripts/
RUN cp "$(scripts/pgo-build.sh)" /src/mcp-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/mcp-operator /usr/local/bin/mcp-operator
USER 65532:65532
EXPOSE 9443 8080
ENTRYPOINT ["mcp-operator"]
CMD ["serve"]
