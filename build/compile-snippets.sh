#!/usr/bin/env bash
# Compiles every ```csharp block of the READMEs as it is written: each block is the whole Program.cs of a fresh
# project outside this repository (`dotnet new web` when it uses WebApplication, else `dotnet new console`) that
# installs the SDK packages the way the READMEs say: `dotnet pack` into a local folder and a nuget.config that maps
# LlmApm.* to that folder. A block that does not compile fails the run, with its file and line.
#
#   build/compile-snippets.sh                       packs, then compiles the snippets
#   LLMAPM_SNIPPET_FILTER=README.md build/compile-snippets.sh   only the files whose path contains the filter
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
FEED="$ROOT/artifacts/snippet-feed"
READMES=(README.md sdk/src/*/README.md samples/ChatService/README.md)

fail() { echo "snippets: $*" >&2; echo "snippets: 0 passed, 1 failed"; exit 1; }

# The version of a package in Directory.Packages.props, $(Properties) resolved: the snippets' projects use the
# same versions as the repository, so that they restore from what the repository already restores.
version_of() {
  local v
  v=$(grep -oP "<PackageVersion Include=\"$1\" Version=\"\K[^\"]+" "$ROOT/Directory.Packages.props") || fail "no version of $1"
  if [[ $v =~ ^\$\((.+)\)$ ]]; then
    v=$(grep -oP "<${BASH_REMATCH[1]}>\K[^<]+" "$ROOT/Directory.Packages.props") || fail "no property for $1"
  fi
  echo "$v"
}

# 1. The local feed, as the READMEs' install sections build it, with a version suffix of its own so that the
#    packages restored are these and not an older build of the same version in the NuGet cache
#    (LLMAPM_SNIPPET_NOPACK=1 reuses the last feed).
CACHE="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
if [[ -z "${LLMAPM_SNIPPET_NOPACK:-}" ]]; then
  rm -rf "$FEED" && mkdir -p "$FEED"
  echo "snippets.$(date +%Y%m%d%H%M%S).$$" > "$FEED/suffix"
  for project in LlmApm.Otel LlmApm.Otel.AspNetCore LlmApm.Otel.Sqlite LlmApm.Otel.PostgreSql; do
    dotnet pack "sdk/src/$project" -c Release -o "$FEED" --nologo -v quiet -p:VersionSuffix="$(cat "$FEED/suffix")" \
      ${LLMAPM_PACK_ARGS:-} >/dev/null || fail "dotnet pack sdk/src/$project failed"
  done
fi
SUFFIX=$(cat "$FEED/suffix")

work=$(mktemp -d)
cleanup() {
  rm -rf "$work"
  [[ -n "${LLMAPM_SNIPPET_NOPACK:-}" ]] || rm -rf "$CACHE"/llmapm.otel*/*-"$SUFFIX"
}
trap cleanup EXIT

# 2. Two fresh projects, installed as the READMEs say (nuget.config of the LlmApm.Otel README's install section).
new_project() {
  local template=$1 dir=$2; shift 2
  mkdir -p "$dir"
  (
    cd "$dir"
    dotnet new "$template" -n Snippet -o . --force >/dev/null
    cat > nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
    <add key="llm-apm" value="$FEED" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
    <packageSource key="llm-apm"><package pattern="LlmApm.*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
    for package in "$@"; do
      case $package in
        LlmApm.*) dotnet add package "$package" --prerelease >/dev/null || fail "dotnet add package $package --prerelease failed in a $template project" ;;
        *) dotnet add package "$package" --version "$(version_of "$package")" >/dev/null || fail "dotnet add package $package failed" ;;
      esac
    done
    # Warnings are errors: a snippet that compiles with a warning is not one to copy.
    sed -i 's|</PropertyGroup>|  <TreatWarningsAsErrors>true</TreatWarningsAsErrors>\n  </PropertyGroup>|' Snippet.csproj
    dotnet build -nologo -v quiet >/dev/null || fail "the empty $template project does not build"
  )
}

new_project web "$work/web" LlmApm.Otel.AspNetCore LlmApm.Otel.Sqlite LlmApm.Otel.PostgreSql Microsoft.Extensions.AI.OpenAI Azure.AI.OpenAI Azure.Identity
new_project console "$work/console" LlmApm.Otel LlmApm.Otel.Sqlite LlmApm.Otel.PostgreSql Microsoft.Extensions.Hosting Microsoft.Extensions.AI.OpenAI Azure.AI.OpenAI Azure.Identity

# 3. Each block, compiled on its own.
passed=0
failed=0
for readme in "${READMES[@]}"; do
  [[ -z "${LLMAPM_SNIPPET_FILTER:-}" || $readme == *"$LLMAPM_SNIPPET_FILTER"* ]] || continue
  mapfile -t starts < <(grep -n '^```csharp$' "$readme" | cut -d: -f1)
  for start in "${starts[@]}"; do
    block=$(awk -v s="$start" 'NR > s && /^```/ { exit } NR > s { print }' "$readme")
    if sed 's|//.*||' <<<"$block" | grep -q 'WebApplication'; then project="$work/web"; else project="$work/console"; fi
    printf '%s\n' "$block" > "$project/Program.cs"
    if out=$(dotnet build "$project" --no-restore -nologo -v quiet -clp:NoSummary 2>&1); then
      passed=$((passed + 1))
      echo "ok   $readme:$start ($(basename "$project"))"
    else
      failed=$((failed + 1))
      echo "FAIL $readme:$start ($(basename "$project"))"
      # Program.cs(line,column) → the README's line and column.
      while IFS= read -r line; do
        if [[ $line =~ Program\.cs\(([0-9]+),([0-9]+)\)(.*)$ ]]; then
          echo "    $readme:$((start + BASH_REMATCH[1])):${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
        else
          echo "    $line"
        fi
      done < <(grep -E 'error|warning' <<<"$out" | sed -E 's| \[[^]]*\]$||' | sort -u | head -20 || true)
    fi
  done
done

[[ $((passed + failed)) -gt 0 ]] || fail "no csharp block found"
echo "snippets: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
