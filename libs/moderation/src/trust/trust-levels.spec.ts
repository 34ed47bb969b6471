import { ActivityStats, earnedLevel } from './trust-levels';

const none: ActivityStats = { days: 0, recentDays: 0, topicsEntered: 0, postsRead: 0, replies: 0, reactionsGiven: 0, reactionsReceived: 0, upheldAgainst: 0 };
const tl2: ActivityStats = { days: 15, recentDays: 15, topicsEntered: 20, postsRead: 100, replies: 3, reactionsGiven: 1, reactionsReceived: 1, upheldAgainst: 0 };
const tl3: ActivityStats = { days: 60, recentDays: 60, topicsEntered: 100, postsRead: 500, replies: 10, reactionsGiven: 30, reactionsReceived: 20, upheldAgainst: 0 };

describe('trust levels', () => {
  it('promotes by activity, one requirement short is not enough', () => {
    expect(earnedLevel(0, none)).toBe(0);
    expect(earnedLevel(0, { ...none, days: 1, topicsEntered: 5, postsRead: 30 })).toBe(1);
    expect(earnedLevel(0, tl2)).toBe(2);
    expect(earnedLevel(0, { ...tl2, replies: 2 })).toBe(1);
    expect(earnedLevel(2, tl3)).toBe(3);
  });

  it('keeps TL1–2 once earned, but TL3 must keep being earned', () => {
    expect(earnedLevel(2, none)).toBe(2);
    expect(earnedLevel(3, { ...tl3, recentDays: 10 })).toBe(2);
  });

  it('caps the level of users with upheld reports against them', () => {
    expect(earnedLevel(3, { ...tl3, upheldAgainst: 1 })).toBe(2);
    expect(earnedLevel(3, { ...tl3, upheldAgainst: 3 })).toBe(1);
  });
});
