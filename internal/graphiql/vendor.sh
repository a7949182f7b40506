#!/usr/bin/env bash
# vendor.sh refreshes third_party/ from the npm registry: it packs each pinned
# package in a temporary directory, refuses a tarball whose sha512 differs
# from the pinned integrity (npm's dist.integrity), copies the files the
# GraphiQL page loads and their licenses, and rewrites third_party/SHA256SUMS,
# which a Go test checks against the embedded files. CI does not run it: the
# vendored files are committed. To upgrade, change a pin below (take the
# integrity from `npm view <name>@<version> dist.integrity`), run this script,
# update the asset paths in page.html and the versions in third_party/README.md.
set -euo pipefail
cd "$(dirname "$0")"

# name version integrity files...
pins=(
	"graphiql 4.1.2 sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg== graphiql.min.js graphiql.min.css LICENSE"
	"react 18.2.0 sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ== umd/react.production.min.js LICENSE"
	"react-dom 18.2.0 sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g== umd/react-dom.production.min.js LICENSE"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=third_party
staged="$tmp/out"
mkdir -p "$staged"

for pin in "${pins[@]}"; do
	read -r name version integrity files <<<"$pin"
	dir="$tmp/$name-$version"
	mkdir -p "$dir"
	tarball=$(cd "$dir" && npm pack --silent "$name@$version")
	got="sha512-$(openssl dgst -sha512 -binary "$dir/$tarball" | base64 -w0)"
	if [ "$got" != "$integrity" ]; then
		echo "vendor.sh: $name@$version: integrity $got, pinned $integrity" >&2
		exit 1
	fi
	tar -xzf "$dir/$tarball" -C "$dir"
	mkdir -p "$staged/$name-$version"
	for f in $files; do
		cp "$dir/package/$f" "$staged/$name-$version/$(basename "$f")"
	done
	echo "$name@$version: $integrity"
done

# Keep the README; replace every vendored file.
cp "$out/README.md" "$staged/README.md"
(cd "$staged" && find . -type f ! -name README.md ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum) >"$staged/SHA256SUMS"
rm -rf "$out"
cp -r "$staged" "$out"
echo "wrote $out/ and $out/SHA256SUMS"
