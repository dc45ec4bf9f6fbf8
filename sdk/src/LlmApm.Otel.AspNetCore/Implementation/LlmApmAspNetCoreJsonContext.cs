using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>The wire models of the history API and the live stream (docs/api.md), source-generated so that they need
/// no reflection (trimming, native AOT). Web defaults (camelCase), whatever JSON settings the host chose for its
/// own API. <see cref="ProblemDetails"/> is here because ASP.NET Core knows it without reflection only in hosts
/// that call <c>AddProblemDetails()</c>: our 400 and 404 answers and the OpenAPI document need it in any host.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LlmApmInfo))]
[JsonSerializable(typeof(LlmApmSummary))]
[JsonSerializable(typeof(LlmApmRequestPage))]
[JsonSerializable(typeof(LlmApmWireRequest))]
[JsonSerializable(typeof(LlmApmTimeSeries))]
[JsonSerializable(typeof(LlmApmScoreInput))]
[JsonSerializable(typeof(LlmApmWireScore))]
[JsonSerializable(typeof(LlmApmWirePrices))]
[JsonSerializable(typeof(LlmApmFeedback))]
[JsonSerializable(typeof(LlmApmSpend))]
[JsonSerializable(typeof(LlmApmReplicas))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(LlmApmBudgets))]
internal sealed partial class LlmApmAspNetCoreJsonContext : JsonSerializerContext;
