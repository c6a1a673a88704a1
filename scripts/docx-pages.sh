#!/usr/bin/env bash
# Renders the Word chapter of the given rule sets and looks at it as a tendering agent
# would: .docx → PDF with LibreOffice headless → one PNG per page with pdftoppm.
#
#   scripts/docx-pages.sh [--out DIR] [--dpi N] ID...      (default: water construction)
#
# Installs libreoffice-writer-nogui, fonts-noto-cjk and poppler-utils with apt-get when
# missing (as root; waits for another apt run's lock). Writes DIR/ID.docx, DIR/ID.pdf and
# DIR/docx-ID-N.png (default DIR: target/docx-pages) and prints the times taken.
# CREDIT_RULES=path/to/credit-rules uses that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/docx-pages
dpi=80
ids=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --dpi) dpi=$2; shift 2 ;;
    *) ids+=("$1"); shift ;;
  esac
done
[ ${#ids[@]} -gt 0 ] || ids=(water construction)

need=()
command -v soffice >/dev/null || need+=(libreoffice-writer-nogui)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  start=$(date +%s)
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null
  echo "installed in $(( $(date +%s) - start )) s" >&2
fi

bin=${CREDIT_RULES:-}
if [ -z "$bin" ]; then
  cargo build --quiet --release
  bin=./target/release/credit-rules
fi
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for id in "${ids[@]}"; do
  "$bin" render "$id" --format docx -o "$out/$id.docx"
  start=$(date +%s.%N)
  soffice -env:UserInstallation=file://"$profile" --headless --convert-to pdf \
    --outdir "$out" "$out/$id.docx" >/dev/null 2>&1
  converted=$(date +%s.%N)
  rm -f "$out/docx-$id"-*.png
  pdftoppm -r "$dpi" -png "$out/$id.pdf" "$out/docx-$id"
  done_at=$(date +%s.%N)
  pages=$(ls "$out/docx-$id"-*.png | wc -l)
  printf '%s: %d page(s); docx→pdf %.1f s, pdf→png %.1f s\n' "$id" "$pages" \
    "$(echo "$converted - $start" | bc)" "$(echo "$done_at - $converted" | bc)"
done
ls "$out"/docx-*.png
