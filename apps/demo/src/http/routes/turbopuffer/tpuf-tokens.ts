/**
 * The tokens of a `pre_tokenized_array` full-text attribute (or of a query
 * operand on one) as the engine's text: each string one token, joined by
 * U+001F (namespace-engine `joinTokens`). A value that is not an array of
 * strings, or a token holding U+001F (the engine's separator), is a 400.
 */
import { joinTokens, PRE_TOKENIZED_SEPARATOR } from "@skerry/namespace-engine";
import { ApiError } from "../../api-error.ts";

export function preTokenizedText(value: unknown, where: string, code: "InvalidArgument" | "InvalidQuery"): string {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new ApiError(code, `${where}: the attribute uses the pre_tokenized_array tokenizer; give an array of strings (its tokens)`);
  }
  const at = value.findIndex((v) => v.includes(PRE_TOKENIZED_SEPARATOR));
  if (at >= 0) throw new ApiError(code, `${where}[${at}]: a token may not hold U+001F (Skerry's token separator)`);
  return joinTokens(value);
}
