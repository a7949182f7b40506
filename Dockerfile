# The crmhub image: the static binary and the CA certificates, nothing else,
# running as an unprivileged user. `make image` builds the binary
# (CGO_ENABLED=0) into bin/image/ with the host's CA bundle, then this file;
# the only stage is scratch, so nothing is pulled and it builds offline.
#
#   make image                      # crmhub:<version>
#   podman run --network host -e DATABASE_URL=... crmhub:<version>
#
# serve does not migrate in the image: run `crmhub migrate up` as the
# schema's owner first, and serve as a role that is only a member of
# crmhub_app (README: Operating crmhub, least privilege).
FROM scratch
COPY bin/image/crmhub /crmhub
COPY bin/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/crmhub"]
CMD ["serve", "--no-migrate"]
