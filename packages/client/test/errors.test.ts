import { describe, expect, it } from "vitest";
import { isSkerryError, retrySafety, SERVER_ERROR_CODES, SkerryError } from "../src/index.ts";
import { apiError, FakeServer, json } from "./support/fake-server.ts";

describe("error mapping", () => {
  it("maps the server's error body to code, status, message, details and request id", async () => {
    const server = new FakeServer().answer(
      apiError(412, "VersionConflict", "expected version 3, found 4", { "x-request-id": "req-1" }, { expected: 3, actual: 4 }),
    );
    const error = await server
      .client()
      .namespace("a", "b", "c")
      .upsert([{ id: "x" }], { ifVersion: 3 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SkerryError);
    expect(error).toMatchObject({
      name: "SkerryError",
      code: "VersionConflict",
      status: 412,
      message: "expected version 3, found 4",
      details: { expected: 3, actual: 4 },
      requestId: "req-1",
      retryable: false,
      attempts: 1,
    });
    expect(isSkerryError(error, "VersionConflict", "Conflict")).toBe(true);
    expect(isSkerryError(error, "NotFound")).toBe(false);
    expect(isSkerryError(new Error("x"))).toBe(false);
  });

  it("classifies every server code", () => {
    const retryable = SERVER_ERROR_CODES.filter((c) => new SkerryError(c, c).retryable);
    expect(retryable.sort()).toEqual(["Conflict", "Overloaded", "ShuttingDown", "Timeout", "TooManyRequests", "Unavailable"]);
    expect(SERVER_ERROR_CODES.filter((c) => retrySafety(c, undefined) === "always").sort()).toEqual(["Conflict", "Overloaded", "ShuttingDown", "TooManyRequests"]);
    expect(new Set(SERVER_ERROR_CODES).size).toBe(SERVER_ERROR_CODES.length);
  });

  it("passes an unknown code from a newer server through, not retried", async () => {
    const server = new FakeServer().answer(apiError(418, "Teapot", "short and stout"));
    await expect(server.client().health()).rejects.toMatchObject({ code: "Teapot", status: 418, retryable: false });
  });

  it("names an answer that is not the API's error shape UnexpectedResponse, with an excerpt", async () => {
    const server = new FakeServer().answer(new Response("x".repeat(300), { status: 404, statusText: "Not Found" }));
    const error = (await server
      .client()
      .health()
      .catch((e: unknown) => e)) as SkerryError;
    expect(error.code).toBe("UnexpectedResponse");
    expect(error.status).toBe(404);
    expect(error.message).toContain("HTTP 404 Not Found: xxx");
    expect(error.message.length).toBeLessThan(300);
  });

  it("wraps a fetch failure as NetworkError with the cause", async () => {
    const cause = new TypeError("fetch failed", { cause: new Error("ECONNREFUSED") });
    const server = new FakeServer().answer(cause);
    const error = (await server
      .client({ retry: { maxRetries: 0 } })
      .health()
      .catch((e: unknown) => e)) as SkerryError;
    expect(error.code).toBe("NetworkError");
    expect(error.status).toBeUndefined();
    expect(error.cause).toBe(cause);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("answers null for a missing document but throws for a missing namespace", async () => {
    const server = new FakeServer().answer(apiError(404, "DocumentNotFound"), apiError(404, "NamespaceNotFound"));
    const ns = server.client().namespace("a", "b", "c");
    expect(await ns.document("nope")).toBeNull();
    await expect(ns.document("nope")).rejects.toMatchObject({ code: "NamespaceNotFound", status: 404 });
  });

  it("refuses names the server would refuse, and that would change the URL's path", () => {
    const client = new FakeServer().client();
    for (const bad of ["..", "a..b", "", "a/b", "-a", "x".repeat(129)]) {
      expect(() => client.namespace("a", "b", bad)).toThrow(TypeError);
      expect(() => client.project(bad, "b")).toThrow(TypeError);
    }
    expect(() => new FakeServer().client({ baseUrl: "ftp://x" })).toThrow(TypeError);
    expect(() => new FakeServer().client({ baseUrl: "not a url" })).toThrow(TypeError);
  });

  it("asks for the ids '.' and '..' by body (a URL path would resolve them)", async () => {
    const server = new FakeServer().answer(json(200, { version: 1, documents: [{ id: ".." }] }));
    expect(await server.client().namespace("a", "b", "c").document("..", { atVersion: 1 })).toEqual({ id: ".." });
    expect(server.calls[0]?.url.pathname).toBe("/v1/orgs/a/projects/b/namespaces/c/documents/get");
    expect(server.calls[0]?.body).toEqual({ ids: [".."], atVersion: 1 });
  });

  it("encodes document ids in the path and keeps a base URL's path prefix", async () => {
    const server = new FakeServer().answer(json(200, { id: "a b/c?" }));
    await server.client({ baseUrl: "https://proxy.test/skerry/" }).namespace("a", "b", "c").document("a b/c?", { consistency: "eventual" });
    expect(server.calls[0]?.url.href).toBe("https://proxy.test/skerry/v1/orgs/a/projects/b/namespaces/c/documents/a%20b%2Fc%3F?consistency=eventual");
  });
});
