#!/usr/bin/env bash
# Packs the SDK packages, checks their metadata, and proves that LlmApm.Otel installs from the package into a
# fresh Generic Host project outside this repository and records a request with its step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
OUT="$ROOT/artifacts/packages"
rm -rf "$OUT" && mkdir -p "$OUT"

dotnet pack sdk/src/LlmApm.Otel/LlmApm.Otel.csproj -c Release -o "$OUT" --nologo -v quiet
dotnet pack sdk/src/LlmApm.Otel.AspNetCore/LlmApm.Otel.AspNetCore.csproj -c Release -o "$OUT" --nologo -v quiet

fail() { echo "pack-smoke: $*" >&2; echo "pack-smoke: 0 passed, 1 failed"; exit 1; }

for id in LlmApm.Otel LlmApm.Otel.AspNetCore; do
  pkg=$(ls "$OUT/$id".[0-9]*.nupkg | grep -v snupkg | head -1)
  [[ -f "$pkg" ]] || fail "no package for $id"
  nuspec=$(unzip -p "$pkg" "$id.nuspec")
  grep -q '<license type="expression">Apache-2.0</license>' <<<"$nuspec" || fail "$id: no license expression"
  grep -q '<readme>README.md</readme>' <<<"$nuspec" || fail "$id: no readme"
  grep -q '<repository type="git"' <<<"$nuspec" || fail "$id: no repository metadata"
  files=$(unzip -l "$pkg") # not piped into grep -q: with pipefail, grep leaving early fails the pipe
  grep -q ' README.md$' <<<"$files" || fail "$id: README.md is not in the package"
  echo "pack-smoke: $id metadata ok ($(basename "$pkg"))"
done
version=$(basename "$(ls "$OUT"/LlmApm.Otel.[0-9]*.nupkg | head -1)" .nupkg); version=${version#LlmApm.Otel.}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="llm-apm-local" value="$OUT" />
  </packageSources>
</configuration>
XML
dotnet new console -n Smoke -o . --force >/dev/null
dotnet add package LlmApm.Otel --version "$version" >/dev/null
dotnet add package Microsoft.Extensions.Hosting --version 10.0.15 >/dev/null
cat > Program.cs <<'CS'
using LlmApm.Otel;
using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddLlmApm();
using var host = builder.Build();
await host.StartAsync();
var apm = host.Services.GetRequiredService<LlmApmInstrumentation>();
using (apm.StartRequest("smoke"))
{
    using (LlmStep.Start("preprocessing"))
    {
        await Task.Delay(1);
    }
}

var records = apm.History.Query(new LlmHistoryQuery());
await host.StopAsync();
if (records.Count != 1 || records[0].Steps.Count != 1 || records[0].Steps[0].Name != "preprocessing")
{
    Console.Error.WriteLine($"expected one record with one step, got {records.Count}");
    return 1;
}

Console.WriteLine($"installed package recorded request {records[0].Id} with step {records[0].Steps[0].Name}");
return 0;
CS
dotnet run -c Release || fail "the installed package did not work"
echo "pack-smoke: 1 passed, 0 failed"
