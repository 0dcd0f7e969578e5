import json,glob,sys
for d in sys.argv[1:]:
    r=json.load(open(glob.glob(f'{d}/*/report.json')[0]))
    ms=[(qq['gold']['answerable'], (qq.get('trace') or {}).get('yes_no_margin'), (qq.get('trace') or {}).get('answer_probability')) for qq in r['questions']]
    a=[m for ok,m,p in ms if ok and m is not None]; u=[m for ok,m,p in ms if not ok and m is not None]
    # AUC of margin
    auc=sum((x>y)+0.5*(x==y) for x in a for y in u)/max(1,len(a)*len(u))
    print(d, 'answerable mean margin %.2f (n%d)'%(sum(a)/len(a),len(a)), 'unanswerable', sorted(round(x,2) for x in u), 'AUC %.3f'%auc)
