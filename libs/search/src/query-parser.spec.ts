import { LETTER_VARIANT_SQL, SEGMENTED_UNIT_SQL, foldLetterVariants, foldOptionalForms, parseQuery, separateSegmented, wordsOf } from './query-parser';

describe('parseQuery', () => {
  it('splits words, phrases and exclusions', () => {
    expect(parseQuery('grinder "burr size" -blade -"french press" ')).toEqual({
      words: ['grinder'],
      phrases: [['burr', 'size']],
      excluded: [['blade'], ['french', 'press']],
      prefix: null,
      times: [1, 1],
    });
  });

  it('treats the last word as a prefix while it is being typed', () => {
    expect(parseQuery('espresso mach').prefix).toBe('mach');
    expect(parseQuery('espresso mach ').prefix).toBeNull();
    expect(parseQuery('espresso "mach"').prefix).toBeNull();
    expect(parseQuery('espresso -mach').prefix).toBeNull();
  });

  it('keeps letters and digits only, lower-cased, so no engine syntax gets through', () => {
    const q = parseQuery(`café & (x | y) : ! <script> 'drop'`);
    expect(q.words).toEqual(['café', 'x', 'y', 'script', 'drop']);
    expect(q.phrases).toEqual([]);
  });

  it('keeps the marks written on letters inside their word, and lower-cases as PostgreSQL does', () => {
    expect(parseQuery('नमस्ते مَرْحَبًا שָׁלוֹם สวัสดี ')).toMatchObject({
      words: ['नमस्ते', 'مرحبا', 'שלום'],
      phrases: [['ส', 'วั', 'ส', 'ดี']], // Thai, written without spaces, letter by letter (see below)
    });
    expect(parseQuery('İZMİR ΟΔΟΣ ').words).toEqual(['i\u0307zmi\u0307r', 'οδοσ']);
    // Except the optional marks of Arabic and Hebrew (vowel marks, tatweel, points, cantillation).
    expect(wordsOf('كِتَـــابٌ هٰذَا שָׁלוֹם בְּרֵאשִׁ֖ית עַל־יְדֵי')).toEqual(['كتاب', 'هذا', 'שלום', 'בראשית', 'על', 'ידי']);
    // A mark with no letter before it is no word; superscripts and fractions separate words.
    expect(parseQuery('\u0301 x² ½ ').words).toEqual(['x']);
  });

  it('reads the forms of an Arabic letter that writers use alike as one letter: alef with hamza, madda or wasla as alef, alef maksura as yeh, teh marbuta as heh', () => {
    expect(foldOptionalForms('أحمد إلى آمال ٱلله على مدرسة')).toBe('احمد الي امال الله علي مدرسه');
    // Marks go too; an alef and a hamza written apart are one letter once composed, and fold then.
    expect(foldOptionalForms('أَحْمَدُ مَدْرَسَةٌ')).toBe('احمد مدرسه');
    expect(wordsOf('أسئلة إجابات'.normalize('NFD'))).toEqual(['اسئله', 'اجابات']);
    expect(parseQuery('مدرسة علي')).toMatchObject({ words: ['مدرسه', 'علي'], prefix: 'علي' });
    // Other letters with a hamza (ؤ, ئ), and other scripts, stay as written.
    expect(foldOptionalForms('سؤال شائع ספר हिन्दी')).toBe('سؤال شائع ספר हिन्दी');
    // One letter for one, so a text keeps its length; SQL's translate is given the same letters.
    expect(foldLetterVariants('قال أحمد: مدرسة')).toBe('قال احمد: مدرسه');
    expect([...LETTER_VARIANT_SQL.from].map((c) => foldLetterVariants(c)).join('')).toBe(LETTER_VARIANT_SQL.to);
    expect(LETTER_VARIANT_SQL.from).toBe('\u0622\u0623\u0625\u0629\u0649\u0671');
  });

  it('reads each letter of Chinese, Japanese and Thai as a word, and a run of them as the phrase of its letters', () => {
    expect(wordsOf('我喜欢喝咖啡 コーヒーが好き ฉันชอบ')).toEqual(['我', '喜', '欢', '喝', '咖', '啡', 'コ', 'ー', 'ヒ', 'ー', 'が', '好', 'き', 'ฉั', 'น', 'ช', 'อ', 'บ']);
    // Other letters and digits next to them stay whole; a Chinese character outside the basic plane is one letter.
    expect(wordsOf('Wi-Fi密码 2024年 𠮷野家 한국어')).toEqual(['wi', 'fi', '密', '码', '2024', '年', '𠮷', '野', '家', '한국어']);
    expect(parseQuery('咖啡 "喜欢 咖啡" -茶 -"绿茶" 豆')).toEqual({
      words: ['豆'],
      phrases: [['咖', '啡'], ['喜', '欢', '咖', '啡']],
      excluded: [['茶'], ['绿', '茶']],
      prefix: null, // a letter of these scripts is never a prefix: a run is found wherever it stands
      times: [1, 1, 1],
    });
    expect(parseQuery('grinder 咖').prefix).toBeNull();
    expect(parseQuery('咖啡 grind').prefix).toBe('grind');
  });

  it('marks those letters for the index as it splits them in a query, and says so to SQL alike', () => {
    expect(separateSegmented('Buy コーヒー, ข้อ and 咖\u{fe00}啡 now', '|')).toBe('Buy |コ||ー||ヒ||ー|, |ข้||อ| and |咖\u{fe00}||啡| now');
    expect(separateSegmented('Plain text, Ελληνικά, 한국어', '|')).toBe('Plain text, Ελληνικά, 한국어');
    expect(SEGMENTED_UNIT_SQL).toContain('\\u4e00-\\u9fff');
    expect(SEGMENTED_UNIT_SQL).toContain('\\U00020000-\\U000323af');
  });

  it('keeps joined words together as a phrase', () => {
    expect(parseQuery('e-mail v1.2').phrases).toEqual([['e', 'mail'], ['v1', '2']]);
  });

  it('ignores empty quotes and lone punctuation, and closes an unfinished quote', () => {
    expect(parseQuery('"" - ?? "open phrase')).toEqual({ words: [], phrases: [['open', 'phrase']], excluded: [], prefix: null, times: [1] });
  });

  it('keeps a long word whole, and leaves out one longer than PostgreSQL indexes', () => {
    const long = 'a'.repeat(300);
    expect(parseQuery(`"${long}" x`).words).toEqual([long, 'x']);
    expect(parseQuery(`${'é'.repeat(1023)} ${'é'.repeat(1024)} x`).words).toEqual(['é'.repeat(1023), 'x']);
  });

  // A word typed twice is one word looked for (as Meilisearch, given the query as typed, finds it):
  // required once, at its first place, and typed twice (`times`, which ranks a query missing words).
  // Typed in full before, the last word is that word in full, no prefix (a document holding it
  // holds the prefix too).
  it('reads a word, a phrase or an exclusion typed twice as one, where it first stands', () => {
    expect(parseQuery('grinder burr grinder ')).toEqual({ words: ['grinder', 'burr'], phrases: [], excluded: [], prefix: null, times: [2, 1] });
    expect(parseQuery('grind coffee grind')).toEqual({ words: ['grind', 'coffee'], phrases: [], excluded: [], prefix: null, times: [2, 1] });
    expect(parseQuery('grind coffee "grind" grinde')).toEqual({ words: ['grind', 'coffee', 'grinde'], phrases: [], excluded: [], prefix: 'grinde', times: [2, 1, 1] });
    expect(parseQuery('"burr size" e-mail x "burr size" E-Mail -blade -"french press" -Blade -"French  press"')).toEqual({
      words: ['x'],
      phrases: [['burr', 'size'], ['e', 'mail']],
      excluded: [['blade'], ['french', 'press']],
      prefix: null,
      times: [1, 2, 2],
    });
    // A phrase's own words stay as typed, repeated or not, and so do words also in a phrase or excluded.
    expect(parseQuery('"knock knock" knock -knock')).toEqual({ words: ['knock'], phrases: [['knock', 'knock']], excluded: [['knock']], prefix: null, times: [1, 1] });
    expect(parseQuery('中 文 中 ').words).toEqual(['中', '文']);
  });

  it('caps the number of terms, once each', () => {
    expect(parseQuery(Array.from({ length: 100 }, (_, i) => `w${i % 70} x`).join(' ')).words).toEqual([...Array.from({ length: 63 }, (_, i) => `w${i}`).flatMap((w, i) => (i === 0 ? [w, 'x'] : [w]))]);
  });

  it('caps the number of terms', () => {
    expect(parseQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')).words).toHaveLength(64);
  });
});
