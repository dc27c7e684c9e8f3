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
