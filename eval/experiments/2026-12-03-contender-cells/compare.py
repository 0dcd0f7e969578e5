import json, glob, sys
def load(d): return json.load(open(glob.glob(d + '/*/report.json')[0]))
def counts(r):
    c = dict(right=0, wrong=0, refused=0, unans_answered=0, unans_abstained=0)
    for q in r['questions']:
        if q['gold']['answerable']:
            c['right' if q['correct'] else ('refused' if q['abstained'] else 'wrong')] += 1
        else:
            c['unans_abstained' if q['abstained'] else 'unans_answered'] += 1
    c['cost'] = 1.5 * (c['wrong'] + c['unans_answered']) + c['refused']
    return c
a, b = load(sys.argv[1]), load(sys.argv[2])
print('before', counts(a)); print('after ', counts(b))
qa = {q['gold']['id'] + q['gold']['question']: q for q in a['questions']}
for q in b['questions']:
    o = qa[q['gold']['id'] + q['gold']['question']]
    if (o['abstained'], o.get('correct'), o['text']) != (q['abstained'], q.get('correct'), q['text']):
        print(' ', q['gold']['answerable'], q['gold']['question'][:70], '|', o['abstained'], o.get('correct'), o['text'][:50], '->', q['abstained'], q.get('correct'), q['text'][:70])
