/**
 * Non-digit words for the streaming false-event measurements.
 *
 * BENCH_WORDS are bench/stream.ts's held-out measurement: the "none" class of a shipped model must
 * not be trained on them and the stream layer must not be tuned on them. DEV_WORDS are for
 * developing against (bench/stream-errors.ts --words dev, tests): disjoint from BENCH_WORDS and from
 * the "none" training words of scripts/synthesize-speakers.sh (so a model never saw them either),
 * with some that sound close to a digit ("wine", "done", "gate") because those are the hard ones.
 */
export const BENCH_WORDS = [
  'hello', 'weather', 'computer', 'yes', 'no', 'stop', 'go', 'left', 'right', 'up', 'down', 'open', 'close', 'music', 'please',
  'thank you', 'good morning', 'banana', 'window', 'kitchen', 'table', 'house', 'river', 'apple', 'dog', 'cat', 'fish', 'bird',
  'green', 'blue', 'yellow', 'orange', 'coffee', 'tomorrow', 'yesterday', 'doctor', 'garden', 'station', 'ticket', 'money',
  'cancel', 'repeat', 'help', 'operator', 'account', 'balance', 'hold on', 'just a moment', 'excuse me', 'what', 'where', 'when',
];

export const DEV_WORDS = [
  'candle', 'guitar', 'birthday', 'chocolate', 'sandwich', 'bottle', 'travel', 'order', 'balloon', 'kitten',
  'carpet', 'dentist', 'honey', 'jungle', 'ladder', 'magnet', 'napkin', 'pocket', 'puzzle', 'rocket',
  'tunnel', 'violin', 'basket', 'button', 'cookie', 'dragon', 'hammer', 'kettle',
  'see you soon', 'good luck', 'how are you', 'not now', 'come here', 'make it quick', 'very good', 'over there',
  'wine', 'done', 'gate', 'dive', 'mix', 'kevin', 'knife', 'mine',
];

/**
 * Real human speech that is not a digit: single words of the Asterisk PBX prompts, one US English
 * female voice (Allison Smith; Debian package asterisk-core-sounds-en-wav, CC BY-SA 3.0, 8 kHz WAV),
 * paths relative to ASTERISK_EN_DIR. No model here was trained on this voice, and none of these
 * words is a digit or a homophone of one: left out are "o"/"oh" (zero), "for"/"four", "to"/"two",
 * "niner", the numbers (ten, eleven, ...), ordinals (first ... ninetieth), and every prompt whose name
 * does not say what it holds or says it holds a digit, and the instruction prompts (over 1.8 s: "press 1
 * to ..."). bench/stream-errors.ts --words real.
 */
export const ASTERISK_EN_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison';
const letters = 'abcdefghijklmnpqrstuvwxyz'.split('').map((l) => `letters/${l}`);
const phonetic = 'abcdefghijklmnopqrstuvwxyz'.split('').map((l) => `phonetic/${l}_p`);
const days = [0, 1, 2, 3, 4, 5, 6].map((d) => `digits/day-${d}`);
const months = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((m) => `digits/mon-${m}`);
export const REAL_WORDS = [
  ...letters,
  ...['asterisk', 'at', 'dash', 'dollar', 'dot', 'equals', 'exclaimation-point', 'plus', 'slash', 'space', 'zed'].map((w) => `letters/${w}`),
  ...phonetic,
  ...days,
  ...months,
  ...['a-m', 'p-m', 'billion', 'dollars', 'hundred', 'million', 'minus', 'oclock', 'pound', 'star', 'thousand', 'today', 'tomorrow', 'yesterday'].map((w) => `digits/${w}`),
  'activated', 'added', 'calling', 'cancelled', 'disabled', 'enabled', 'extension', 'goodbye', 'hello', 'hours', 'is',
  'location', 'lowercase', 'minute', 'minutes', 'number', 'removed', 'second', 'seconds', 'sorry', 'time', 'uppercase',
  'with', 'your', 'de-activated', 'hello-world', 'im-sorry', 'please-try-again', 'telephone-number', 'call-waiting',
  'call-forwarding', 'do-not-disturb', 'speed-dial',
  ...['and', 'deleted', 'undeleted', 'first', 'from', 'last', 'message', 'messages', 'no', 'password', 'press', 'received', 'saved',
    'duration', 'extension', 'Family', 'Friends', 'INBOX', 'Old', 'Urgent', 'Work', 'goodbye'].map((w) => `vm-${w}`),
  ...['agent', 'console', 'dahdi', 'jingle', 'local', 'mobile', 'sip', 'skinny', 'zap'].map((w) => `spy-${w}`),
];
/** The same voice saying the digits 0-9 (a real stranger's voice: `--real-digits`). */
export const REAL_DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => `digits/${d}`);
