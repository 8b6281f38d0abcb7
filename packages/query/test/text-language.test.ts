/**
 * Text languages (src/query/text-language.ts): each language's stemmer and
 * stop words are loaded on first use (not when the engine is imported), and
 * are the `@orama/stemmers` / `@orama/stopwords` ones.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { TEXT_LANGUAGES, textLanguage } from "../src/text-language.ts";
import { ENGLISH_STOP_WORDS } from "../src/stop-words.ts";

const words = ["running", "connections", "häuser", "nationalité", "говорить", "çalışıyorlar", "καλημέρα", "யாருக்கு", "المكتبة", "kirjastossa"];

describe("text languages", () => {
  it("load a language's stemmer and stop words when first used", () => {
    const resolve = createRequire(import.meta.url);
    const stemmer = resolve.resolve("@orama/stemmers/tamil");
    const stopWords = resolve.resolve("@orama/stopwords/tamil");
    expect(resolve.cache[stemmer]).toBeUndefined();
    expect(resolve.cache[stopWords]).toBeUndefined();
    const tamil = textLanguage("tamil");
    expect(tamil?.name).toBe("tamil");
    expect(resolve.cache[stemmer]).toBeUndefined();
    tamil?.stem("யாருக்கு");
    expect(resolve.cache[stemmer]).toBeDefined();
    expect(resolve.cache[stopWords]).toBeUndefined();
    expect(tamil?.stopWords.length).toBeGreaterThan(0);
    expect(resolve.cache[stopWords]).toBeDefined();
  });

  it("stem and stop as the @orama modules do, in every language", async () => {
    expect(TEXT_LANGUAGES).toHaveLength(18);
    for (const name of TEXT_LANGUAGES) {
      const language = textLanguage(name);
      const { stemmer } = (await import(/* @vite-ignore */ `${"@orama/stemmers"}/${name}`)) as { stemmer: (word: string) => string };
      for (const word of words) expect(language?.stem(word)).toBe(stemmer(word));
      const expected = name === "english" ? ENGLISH_STOP_WORDS : ((await import(/* @vite-ignore */ `${"@orama/stopwords"}/${name}`)) as { stopwords: string[] }).stopwords;
      expect(language?.stopWords).toEqual(expected);
      expect(language?.stopWords.length).toBeGreaterThan(0);
    }
    expect(textLanguage("klingon")).toBeUndefined();
    expect(textLanguage("constructor")).toBeUndefined();
  });
});
