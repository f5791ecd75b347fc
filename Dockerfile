# HQ's cloud service (`smartstore cloud`): what docker-compose.yml builds and runs.
# The same wheel a store installs; the cloud uses its cloud/ and contract/ packages.
#
#   docker build -t smartstore-cloud .
#
# Build stage: the wheel, from the source (no checkout in the final image).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml ./
COPY contract contract
COPY edge edge
COPY devices devices
COPY cloud cloud
COPY provisioning provisioning
COPY smartstore smartstore
COPY firmware_configs firmware_configs
RUN pip wheel --no-cache-dir --no-deps --disable-pip-version-check -w /dist .

FROM python:3.11-slim-bookworm
# libzbar0: pyzbar is one of the package's dependencies (the kiosk camera) and looks for it
# when imported; the cloud never does, but a complete install must not fail later.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libzbar0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin smartstore
COPY --from=build /dist /dist
RUN pip install --no-cache-dir --disable-pip-version-check /dist/*.whl && rm -rf /dist
USER smartstore
EXPOSE 8100
# Settings come from the environment (SMARTSTORE_CLOUD_*, cloud/README.md); `smartstore
# cloud` migrates the database, then serves.
CMD ["smartstore", "cloud", "--host", "0.0.0.0", "--port", "8100", "--workers", "2"]
