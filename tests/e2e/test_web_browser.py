"""The clients' page in a real browser (issue 19): Debian's chromium,
headless, with JavaScript switched off, driven by python3-selenium through
chromium-driver: the link of a real received mail opened, the report form
(or the payment plan's) filled and posted, the confirmation shown; screenshots of each page at a
phone's and a desktop's width kept in the test's directory (their paths
printed)."""
import os
import shutil

import pytest

from harness import allow_simulated_clock, at, wait_until
from harness.paths import DUNNINGWEB

from web_rig import Web, link_in

webdriver = pytest.importorskip('selenium.webdriver')
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'

pytestmark = pytest.mark.skipif(
    not DUNNINGWEB or not os.access(CHROMEDRIVER, os.X_OK) or not os.access(CHROMIUM, os.X_OK),
    reason='dunningweb, chromium or chromium-driver missing (scripts/lib.sh installs them)')

SIZES = {'phone': (390, 844), 'desktop': (1280, 900)}


def browser(tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    o = Options()
    o.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
              '--lang=en-US', '--user-data-dir=%s' % (tmp_path / 'chromium')):
        o.add_argument(a)
    # No JavaScript at all: the page must work without it.
    o.add_experimental_option('prefs', {'profile.managed_default_content_settings.javascript': 2})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)


def shoot(d, tmp_path, name):
    paths = []
    for size, (w, h) in SIZES.items():
        d.set_window_size(w, h)
        p = str(tmp_path / ('%s-%s.png' % (name, size)))
        d.save_screenshot(p)
        paths.append(p)
    print('screenshots:', ' '.join(paths))
    return paths


def test_report_form_in_chromium_without_javascript(make_env, tmp_path):
    from selenium.webdriver.common.by import By
    env = make_env(firm_conf='  mediator = "Médiateur de la consommation des avocats"\n')
    web = Web(env, now=at('2026-03-12', '12:00'))
    client = env.client('claire@client.example', kind='individual', last='Martin',
                        first='Claire', language='en')
    env.invoice('F-2026-0400', client, '2026-03-02', amount='640.00',
                payment_url='https://paiement.cabinet.example/p/F-2026-0400')
    env.cycle(at('2026-03-05'))
    env.cycle(at('2026-03-12'))
    mails = [m for m in env.new_mails() if m.rcpt == 'claire@client.example']
    assert len(mails) == 2, mails
    base, token = link_in(mails[-1].body)       # the j10 mail's link: pay, report, plan
    web.start()
    d = browser(tmp_path)
    try:
        d.get('%s/r/%s' % (base, token))
        assert 'F-2026-0400' in d.page_source and 'Report a problem' in d.page_source
        assert d.find_element(By.ID, 'plan')    # j10: the plan's place
        shoot(d, tmp_path, 'page')
        d.set_window_size(*SIZES['phone'])
        d.find_element(By.CSS_SELECTOR, 'input[value="hardship"]').click()
        d.find_element(By.ID, 'message').send_keys('I lost my job; can we talk?')
        d.find_element(By.CSS_SELECTOR, '#report button[type="submit"]').click()
        # The click returns before the next page is in: poll for it.
        wait_until('the confirmation page',
                   lambda: 'Your report has been received' in d.page_source)
        shoot(d, tmp_path, 'done')
    finally:
        d.quit()
        web.stop()
    assert env.one('SELECT category || \':\' || message FROM dunning.client_report') == \
        'hardship:I lost my job; can we talk?'


def test_plan_form_in_chromium_without_javascript(make_env, tmp_path):
    """A French client proposes 3 instalments of 899,99 € from the j10
    link: the amounts the page showed are those recorded."""
    from selenium.webdriver.common.by import By
    env = make_env()
    web = Web(env, now=at('2026-03-12', '12:00'))
    allow_simulated_clock(env)
    client = env.client('leo@client.example', kind='individual', last='Durand', first='Léo')
    env.invoice('F-2026-0700', client, '2026-03-02', amount='899.99')
    env.cycle(at('2026-03-05'))
    env.cycle(at('2026-03-12'))
    mails = [m for m in env.new_mails() if m.rcpt == 'leo@client.example']
    base, token = link_in(mails[-1].body)
    web.start()
    d = browser(tmp_path)
    try:
        d.get('%s/r/%s' % (base, token))
        assert 'Payer en plusieurs fois' in d.page_source
        source = d.page_source.replace('&nbsp;', '\u00a0')
        assert '299,99\u00a0€, 299,99\u00a0€ puis 300,01\u00a0€' in source, source
        shoot(d, tmp_path, 'plan-page')
        d.set_window_size(*SIZES['desktop'])
        d.find_element(By.CSS_SELECTOR, 'input[name="instalments"][value="3"]').click()
        # A date field in the browser's (en-US) order: month, day, year.
        d.find_element(By.ID, 'first_due').send_keys('04102026')
        d.find_element(By.CSS_SELECTOR, '#plan button[type="submit"]').click()
        wait_until('the confirmation page',
                   lambda: 'Votre échéancier est accepté' in d.page_source)
        assert '10 avril 2026' in d.page_source and '300,01' in d.page_source
        shoot(d, tmp_path, 'plan-done')
    finally:
        d.quit()
        web.stop()
    assert [str(a) for (a,) in env.sql('SELECT amount FROM dunning.plan_instalment '
                                       'ORDER BY seq')] == ['299.99', '299.99', '300.01']
    assert str(env.one('SELECT min(due_on) FROM dunning.plan_instalment')) == '2026-04-10'
